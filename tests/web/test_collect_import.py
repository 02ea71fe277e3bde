"""Interview files sealed on a phone, imported by a supervisor; and interviews kept after a conflict.

The file is sealed here exactly as the app's WebCrypto code does it (RSA-OAEP SHA-256 wrapping an
AES-256-GCM key), with the public key the shell gives the phone.
"""

from __future__ import annotations

import base64
import io
import json
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlmodel import select

from tests.web.test_api import submission
from web import db
from web.collect import sealed
from web.models import AuditEvent, Response, User

pytestmark = pytest.mark.both_backends  # stores and reads back: SQLite and PostgreSQL


def seal(app, items: list[dict], identity: str | None = None, key: dict | None = None) -> bytes:
    with app.app_context():
        key = key or sealed.public_key()
        if identity is None:
            volunteer = db.session().exec(select(User).where(User.username == "volunteer-user")).one()
            identity = sealed.identity_for(volunteer.id, volunteer.username)
    public = serialization.load_der_public_key(base64.b64decode(key["spki"]))
    secret, iv = AESGCM.generate_key(bit_length=256), os.urandom(12)
    plain = json.dumps({"identity": identity, "items": items}).encode()
    wrapped = public.encrypt(secret, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                                                   label=None))
    envelope = {"format": sealed.FORMAT, "key_id": key["key_id"], "wrapped_key": base64.b64encode(wrapped).decode(),
                "iv": base64.b64encode(iv).decode(), "data": base64.b64encode(AESGCM(secret).encrypt(iv, plain, None)).decode()}
    return json.dumps(envelope).encode()


def upload(client, data: bytes, lang: str = "en"):
    return client.post(f"/collect/import?lang={lang}", data={"file": (io.BytesIO(data), "phone.khaosat")},
                       content_type="multipart/form-data")


def items(app) -> list[dict]:
    queued = [{"uuid": u, "status": "queued", "body": submission(app, uuid=u)}
              for u in ("a1b2c3d4-0001-4000-8000-000000000001", "a1b2c3d4-0002-4000-8000-000000000002")]
    draft = {"uuid": "a1b2c3d4-0003-4000-8000-000000000003", "status": "draft", "answers": {}}
    return [*queued, draft]


def rows(app) -> list[Response]:
    with app.app_context():
        return db.session().exec(select(Response).order_by(Response.id)).all()


def test_a_sealed_file_is_stored_once_under_its_volunteer_however_often_imported(app, client, accounts):
    accounts.create("volunteer")
    accounts.login("supervisor")
    data = seal(app, items(app))
    first = upload(client, data).get_data(as_text=True)
    assert "File of volunteer-user" in first
    assert '<th scope="row">Stored now</th><td class="num">2</td>' in first
    assert '<th scope="row">Unfinished (not stored)</th><td class="num">1</td>' in first
    again = upload(client, data).get_data(as_text=True)
    assert '<th scope="row">Already on the server</th><td class="num">2</td>' in again
    stored = rows(app)
    with app.app_context():
        volunteer = db.session().exec(select(User).where(User.username == "volunteer-user")).one()
        assert db.session().exec(select(AuditEvent).where(AuditEvent.action == "interviews_imported")).all()
    assert len(stored) == 2 and {r.volunteer_id for r in stored} == {volunteer.id}
    assert {r.channel for r in stored} == {"interview"}


def test_the_file_is_unreadable_without_the_servers_key(app, accounts):
    accounts.create("volunteer")
    data = seal(app, items(app))
    assert b"birth_year" not in data and b"digital-skills" not in data


def test_files_that_cannot_be_trusted_change_nothing_and_say_why(app, client, accounts):
    accounts.create("volunteer")
    accounts.login("supervisor")
    good = json.loads(seal(app, items(app)))
    tampered = {**good, "data": base64.b64encode(b"x" + base64.b64decode(good["data"])[1:]).decode()}
    with app.app_context():
        forged = seal(app, items(app), identity="not-signed-by-the-server")
    cases = {
        b"not json at all": "not an interview file",
        json.dumps({**good, "key_id": "0" * 16}).encode(): "sealed for another server",
        json.dumps(tampered).encode(): "damaged",
        forged: "does not say which volunteer",
    }
    for data, message in cases.items():
        response = upload(client, data)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    vi = upload(client, b"{}", lang="vi")
    assert "không nhập gì" in vi.get_data(as_text=True)
    assert rows(app) == []


def test_only_supervisors_import(app, client, accounts):
    accounts.create("volunteer")
    accounts.login("researcher")
    assert upload(client, seal(app, items(app))).status_code == 403
    assert rows(app) == []


def test_keep_both_after_a_conflict_stores_the_new_content_linked_and_flagged(app, client, accounts):
    headers = {"Authorization": f"Bearer {accounts.token('volunteer')}"}
    first = submission(app)
    assert client.post("/api/v1/submissions", json=first, headers=headers).status_code == 201
    changed = submission(app, answers={**first["answers"], "birth_year": 1990})
    assert client.post("/api/v1/submissions", json=changed, headers=headers).status_code == 409
    kept = {**changed, "uuid": "c0ffee00-0000-4000-8000-000000000001", "conflict_of": first["uuid"]}
    reply = client.post("/api/v1/submissions", json=kept, headers=headers)
    assert reply.status_code == 201 and reply.get_json()["uuid"] == kept["uuid"]
    stored = rows(app)
    assert [(r.uuid, r.conflict_of) for r in stored] == [(first["uuid"], None), (kept["uuid"], first["uuid"])]
    bad = {**kept, "uuid": "c0ffee00-0000-4000-8000-000000000002", "conflict_of": 42}
    assert client.post("/api/v1/submissions", json=bad, headers=headers).status_code == 422
    accounts.login("admin")  # admins review every ward
    page = client.get("/admin/quality?survey=digital-skills&lang=en").get_data(as_text=True)
    assert "the volunteer kept both" in page


def test_what_a_phone_sealed_at_logout_opens_only_for_its_own_volunteer(app, client, accounts):
    accounts.create("volunteer")
    item = items(app)[0]
    kept = seal(app, [item]).decode()
    header = {"X-KhaoSat-Collect": "1", "Content-Type": "text/plain"}
    accounts.create("volunteer", "other-volunteer")
    other = app.test_client()
    other.post("/accounts/login", data={"username": "other-volunteer", "password": "correct-horse-9"})
    assert other.post("/collect/unseal", data=json.dumps({"items": [kept]}), headers=header).get_json() == {"items": [None]}
    owner = app.test_client()
    owner.post("/accounts/login", data={"username": "volunteer-user", "password": "correct-horse-9"})
    assert owner.post("/collect/unseal", data=json.dumps({"items": [kept, "junk", 3]}),
                      headers=header).get_json() == {"items": [item, None, None]}
    assert owner.post("/collect/unseal", data="{", headers=header).status_code == 400
    assert owner.post("/collect/unseal", data=json.dumps({"items": [kept]})).status_code == 400  # no app header
    # a file saved before the sealed item was opened again still imports it
    accounts.login("supervisor")
    page = upload(client, seal(app, [{"uuid": item["uuid"], "sealed": kept, "status": "sealed"}])).get_data(as_text=True)
    assert '<th scope="row">Stored now</th><td class="num">1</td>' in page
    assert [r.uuid for r in rows(app)] == [item["uuid"]]
