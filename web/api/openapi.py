"""The OpenAPI 3.1 description of KhaoSat's HTTP API (served at ``/api/v1/openapi.json``).

The request bodies' schemas are those of the pydantic models that check them (:mod:`web.api.bodies`),
under ``components/schemas``; the rest (paths, parameters, replies) is written here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from web.api.bodies import Submission, Visit
from web.i18n import languages

SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}, "example": "digital-skills"}
#: an error reply: each message in every language the installation offers (web.messages.in_every_language),
#: keyed by language code; Vietnamese and English are always there, a third language's catalog adds its own
ERROR = {"type": "object", "required": ["errors"], "properties": {"errors": {
    "type": "object", "description": "field ('_' for the request as a whole, a question's name, 'meta.<key>') -> "
                                     "message in each language offered",
    "additionalProperties": {"type": "object", "description": "language code -> message", "required": ["vi", "en"],
                             "additionalProperties": {"type": "string"}}}}}
EXPORT_FORMATS = ["csv", "xlsx", "sav", "dta", "parquet"]
BEARER = [{"bearer": []}]
REF = "#/components/schemas/{model}"

#: the microdata tiers (web.research.releases): path -> what it is
MICRODATA = {
    "export": "Scientific-use file: de-identified microdata with the ward, final weights and design variables; "
              "quasi-identifiers suppressed until no record's re-identification risk exceeds the threshold "
              "(researcher token or session)",
    "export-public": "Public-use file: every combination of the quasi-identifiers at least k times (k = 5), "
                     "area coarsened as needed, no ward or design variables (researcher token or session)",
    "export-full": "Full microdata, year of birth and paradata included (admins only)",
}


def _error(text: str) -> dict:
    return {"description": text, "content": {"application/json": {"schema": ERROR}}}


def _nullable(kind: str, **more: Any) -> dict:
    return {"type": [kind, "null"], **more}


def _body(model: type) -> dict:
    return {"required": True, "content": {"application/json": {
        "schema": {"$ref": REF.format(model=model.__name__)}}}}


@cache
def request_schemas() -> dict[str, Any]:
    """The request bodies' JSON Schemas, and the models they use, from the pydantic models.

    A member that may be left out but not sent as null (``"channel": null`` is refused) has no default
    in the schema: pydantic writes ``"default": null`` beside ``"type": "string"``.
    """
    _, top = models_json_schema([(Submission, "validation"), (Visit, "validation")],
                                ref_template=REF)
    for schema in top["$defs"].values():
        for member in schema.get("properties", {}).values():
            if "default" in member and member["default"] is None and "anyOf" not in member:
                del member["default"]
    return top["$defs"]


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "KhaoSat API", "version": "1",
                 "description": "Bilingual survey platform: submissions from field clients, instruments for offline "
                                "use, weighted results and microdata for researchers. Errors carry Vietnamese and "
                                "English messages."},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "A token from `khaosat create-token`"}},
            "schemas": request_schemas()},
        "paths": {**_field_paths(), **_results_path(), **_download_paths(),
                  "/api/v1/openapi.json": {"get": {"summary": "This description",
                                                   "responses": {"200": {"description": "OpenAPI 3.1"}}}}},
    }


def _field_paths() -> dict[str, Any]:
    """What the collection app uses: the instrument, submissions and visits."""
    return {
        "/api/v1/surveys/{slug}": {"get": {
            "summary": "The current published version of an instrument", "parameters": [SLUG],
            "responses": {"200": {"description": "The instrument as JSON"}, "404": _error("No such survey"),
                          "410": _error("The survey is closed (code survey_closed)")}}},
        "/api/v1/submissions": {"post": {
            "summary": "Submit a response (volunteer token); idempotent on uuid", "security": BEARER,
            "requestBody": _body(Submission),
            "responses": {"201": {"description": "Stored"}, "200": {"description": "Already stored (same content)"},
                          "400": _error("Not a JSON object in UTF-8, NaN/Infinity, duplicate names, nested over "
                                        "16 levels"),
                          "401": _error("No or bad token"),
                          "409": _error("uuid known with other content, or sent by someone else"),
                          "410": _error("The version closed before this interview began (code survey_closed); "
                                        "one begun before is accepted"),
                          "413": _error("Body over 1 MB"), "429": _error("Too many submissions"),
                          "422": _error("Invalid answers, paradata or GPS position")}}},
        "/api/v1/visits": {"post": {
            "summary": "Record a visit to a sampled household assigned to you: its AAPOR outcome and a callback; "
                       "idempotent on uuid",
            "security": BEARER, "requestBody": _body(Visit),
            "responses": {"201": {"description": "Recorded"}, "200": {"description": "Already recorded (same content)"},
                          "401": _error("No or bad token"), "409": _error("uuid known with other content"),
                          "422": _error("Not your household, or not an AAPOR code or time")}}},
    }


def _results_row() -> dict[str, Any]:
    return {"type": "object", "description": "A cell: its key columns, labels and estimates", "properties": {
        "ward_code": {"type": "integer"}, "ward": {"type": "string"}, "cell": {"type": "string"},
        "former_district": {"type": "string", "description": "pre-2025 GSO district code, 'several' or 'unknown' "
                                                             "('several:79' when the survey covers several provinces)"},
        "province_code": {"type": "integer", "description": "GSO province code (level province, several provinces)"},
        "province": {"type": "string"},
        "former_district_label": {"type": "string"},
        "estimate": _nullable("number"), "se": _nullable("number"),
        "ci_low": _nullable("number"), "ci_high": _nullable("number"),
        "n": _nullable("integer"), "cv": _nullable("number"),
        "reliability": {"type": "string", "enum": ["ok", "unreliable", "suppressed"]},
        "category": {"type": "string", "description": "categorical indicators: the answer code (one row each)"},
        "category_label": {"type": "string"},
        "people": _nullable("number", description="shares: the number of people the share stands for "
                                                  "(share x estimated population)"),
        "people_low": _nullable("number"), "people_high": _nullable("number")}}


def _results_parameters() -> list[dict[str, Any]]:
    def query(name: str, description: str, **schema: Any) -> dict[str, Any]:
        return {"name": name, "in": "query", "schema": {"type": "string", **schema}, "description": description}

    return [SLUG,
            query("indicator", "A derived indicator or a yes/no, choice, scale or number question"),
            query("level", "`national` (the whole area) and `province` (each province) for a survey covering several "
                           "provinces, where `province` is the default; for one province, `province` is the whole "
                           "area; `former_district`: where a province has a conversion table",
                  enum=["national", "province", "ward", "former_district"]),
            query("by", "A group (age_band, sex, ethnicity, area_type, urban_rural, education, disability, income) "
                        "or `ward` (same as level=ward)"),
            query("by2", "A second group, crossed with the first"),
            query("estimator", "`fh`: model-based (Fay–Herriot small-area) estimates by ward; `estimate`, `se` (root "
                               "MSE), `ci_low`, `ci_high`, `cv` are the model's, `direct*` the survey's, `gamma` the "
                               "weight on the direct estimate", enum=["direct", "fh"], default="direct"),
            query("benchmark", "With `estimator=fh`: add `estimate_benchmarked` and `se_benchmarked` (root of MSE + "
                               "squared adjustment), whose population-weighted mean is the province's direct "
                               "estimate",
                  enum=["ratio", "difference"]),
            query("streams", "`both`: add `streams`, the self-selected stream (QR/link, not representative) beside "
                             "the official probability sample, cell by cell, with the gap (self-selected − official) "
                             "and its 95% interval, the two streams treated as independent samples",
                  enum=["official", "both"], default="official"),
            query("lang", "Language of the labels", enum=list(languages()))]


def _streams_schema() -> dict[str, Any]:
    """``streams`` of a results reply with ``streams=both``."""
    return {"type": "object", "description": "With streams=both", "properties": {
        "official": {"type": "string", "enum": ["probability"]},
        "other": {"type": "string", "enum": ["nonprobability"]},
        "variance": {"type": "string", "enum": ["independent"],
                     "description": "gap_se = sqrt(official_se² + self_selected_se²)"},
        "rows": {"type": "array", "items": {"type": "object", "description":
                 "The cell's keys and label, official_* and self_selected_* (estimate, se, ci_low, ci_high, n, "
                 "reliability), gap, gap_se, gap_ci_low, gap_ci_high"}}}}


def _results_path() -> dict[str, Any]:
    table = {"type": "object", "properties": {
        "survey": {"type": "string"}, "indicator": {"type": "string"}, "level": {"type": "string"},
        "kind": {"type": "string", "enum": ["share", "score", "categorical"],
                 "description": "share and categorical: proportions (0-1) with logit intervals; score: a mean"},
        "ci_method": _nullable("string"),
        "by": {"type": "array", "items": {"type": "string"}}, "weights": {"type": "string"},
        "benchmark": {"type": "number"}, "rows": {"type": "array", "items": _results_row()},
        "stream": {"type": "string", "enum": ["probability", "nonprobability"],
                   "description": "Where `rows` come from: the probability sample (official) once there is one, "
                                  "else the self-selected responses (not representative)"},
        "streams": _streams_schema(),
        "as_of": _nullable("string"), "updating": {"type": "boolean"},
        "computed": {"type": "string", "enum": ["database"],
                     "description": "Present for a survey over the server's in-memory limit: its figures come from "
                                    "a roll-up in the database (by area, sex and age band, or by area and another "
                                    "group, and the model-based ward estimates of `estimator=fh`; `streams=both` "
                                    "answers 409 at that size)"},
        "synthetic": {"type": "boolean", "description": "True when the data are the synthetic demo"},
        "notice": {"type": "string", "description": "With synthetic: the notice to show beside the numbers"}}}
    return {"/api/v1/results/{slug}": {"get": {
        "summary": "Weighted estimates with 95% CIs, n and reliability flags (researcher token)",
        "security": BEARER, "parameters": _results_parameters(),
        "responses": {"200": {"description": "The table", "content": {"application/json": {"schema": table}}},
                      "202": _preparing(), "401": _error("No or bad token"), "403": _error("Not a researcher"),
                      "404": _error("No such survey"), "409": _error("Not offered for a survey of this size"),
                      "422": _error("A parameter this survey does not offer")}}}}


def _preparing() -> dict[str, Any]:
    """202: a large survey's first weights are being made in the background (web/research/weighting_jobs.py)."""
    body = {"type": "object", "required": ["status", "done_rows", "total_rows", "percent", "retry_after", "message"],
            "properties": {"status": {"type": "string", "enum": ["preparing"]},
                           "done_rows": {"type": "integer", "description": "Responses read so far"},
                           "total_rows": {"type": "integer", "description": "Responses to read (0 until the run starts)"},
                           "percent": {"type": "integer"}, "retry_after": {"type": "integer"},
                           "message": {"type": "object", "additionalProperties": {"type": "string"},
                                       "description": "The same notice in each language (vi, en)"}}}
    return {"description": "The figures are being prepared (a large survey's first weights, made once in the "
                           "background): ask again after Retry-After seconds",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            "content": {"application/json": {"schema": body}}}


def _download_paths() -> dict[str, Any]:
    """The researcher downloads: the microdata tiers and the codebook."""
    files = {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
             "application/x-spss-sav": {}, "application/x-stata-dta": {}, "application/vnd.apache.parquet": {}}
    paths: dict[str, Any] = {f"/research/{{slug}}/{path}.{{fmt}}": {"get": {
        "summary": summary, "security": BEARER,
        "parameters": [SLUG, {"name": "fmt", "in": "path", "required": True,
                              "schema": {"type": "string", "enum": EXPORT_FORMATS}},
                       {"name": "lang", "in": "query", "schema": {"type": "string", "enum": list(languages())},
                        "description": "Language of variable and value labels (sav, dta)"}],
        "responses": {"200": {"description": "The file", "content": files}, "401": _error("No or bad token")}}}
        for path, summary in MICRODATA.items()}
    paths["/research/{slug}/codebook.{fmt}"] = {"get": {
        "summary": "The bilingual codebook", "security": BEARER,
        "parameters": [SLUG, {"name": "fmt", "in": "path", "required": True,
                              "schema": {"type": "string", "enum": ["html", "csv"]}}],
        "responses": {"200": {"description": "The codebook"}}}}
    return paths
