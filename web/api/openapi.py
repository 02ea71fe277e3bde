"""The OpenAPI 3 description of KhaoSat's HTTP API (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}, "example": "digital-skills"}
BILINGUAL_ERROR = {"type": "object", "required": ["errors"], "properties": {"errors": {
    "type": "object", "description": "field ('_' for the request as a whole, a question's name, 'meta.<key>') -> "
                                     "message in each language",
    "additionalProperties": {"type": "object", "properties": {"vi": {"type": "string"}, "en": {"type": "string"}}}}}}

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
    return {"description": text, "content": {"application/json": {"schema": BILINGUAL_ERROR}}}


def document() -> dict[str, Any]:
    row = {"type": "object", "description": "A cell: its key columns, labels and estimates", "properties": {
        "ward_code": {"type": "integer"}, "ward": {"type": "string"}, "cell": {"type": "string"},
        "former_district": {"type": "string", "description": "pre-2025 GSO district code, 'several' or 'unknown'"},
        "former_district_label": {"type": "string"},
        "estimate": {"type": "number", "nullable": True}, "se": {"type": "number", "nullable": True},
        "ci_low": {"type": "number", "nullable": True}, "ci_high": {"type": "number", "nullable": True},
        "n": {"type": "integer", "nullable": True}, "cv": {"type": "number", "nullable": True},
        "reliability": {"type": "string", "enum": ["ok", "unreliable", "suppressed"]},
        "category": {"type": "string", "description": "categorical indicators: the answer code (one row each)"},
        "category_label": {"type": "string"},
        "people": {"type": "number", "nullable": True,
                   "description": "shares: the number of people the share stands for (share x estimated population)"},
        "people_low": {"type": "number", "nullable": True}, "people_high": {"type": "number", "nullable": True}}}
    export_formats = ["csv", "xlsx", "sav", "dta", "parquet"]
    return {
        "openapi": "3.0.3",
        "info": {"title": "KhaoSat API", "version": "1",
                 "description": "Bilingual survey platform: submissions from field clients, instruments for offline "
                                "use, weighted results and microdata for researchers. Errors carry Vietnamese and "
                                "English messages."},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "A token from `khaosat create-token`"}}},
        "paths": {
            "/api/v1/surveys/{slug}": {"get": {
                "summary": "The current published version of an instrument", "parameters": [SLUG],
                "responses": {"200": {"description": "The instrument as JSON"}, "404": _error("No such survey")}}},
            "/api/v1/submissions": {"post": {
                "summary": "Submit a response (volunteer token); idempotent on uuid",
                "security": [{"bearer": []}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["uuid", "survey", "version", "answers"],
                    "properties": {"uuid": {"type": "string"}, "survey": {"type": "string"},
                                   "version": {"type": "integer"}, "answers": {"type": "object"},
                                   "meta": {"type": "object", "description": (
                                       "Paradata, at most 4 KB: started_at, ended_at (ISO 8601), duration_s, channel, "
                                       "language, volunteer, app_version, gps_consent; any other key is a 422. A GPS fix {lat, lon, accuracy_m} under `gps` is kept "
                                       "(apart from the answers, for admins only) only with `gps_consent: true`; "
                                       "without consent it is dropped, with consent a malformed one gets a 422.")}}}}}},
                "responses": {"201": {"description": "Stored"}, "200": {"description": "Already stored (same content)"},
                              "400": _error("Not a JSON object in UTF-8, NaN/Infinity, duplicate names, nested over "
                                            "16 levels"),
                              "401": _error("No or bad token"),
                              "409": _error("uuid known with other content, or sent by someone else"),
                              "413": _error("Body over 1 MB"), "429": _error("Too many submissions"),
                              "422": _error("Invalid answers, paradata or GPS position")}}},
            "/api/v1/results/{slug}": {"get": {
                "summary": "Weighted estimates with 95% CIs, n and reliability flags (researcher token)",
                "security": [{"bearer": []}],
                "parameters": [SLUG,
                               {"name": "indicator", "in": "query", "schema": {"type": "string"},
                                "description": "A derived indicator or a yes/no, choice, scale or number question"},
                               {"name": "level", "in": "query", "schema": {"type": "string", "enum": ["province", "ward", "former_district"]},
                                "description": "`former_district`: where the province has a conversion table"},
                               {"name": "by", "in": "query", "schema": {"type": "string"},
                                "description": "A group (age_band, sex, ethnicity, area_type, urban_rural, education, "
                                               "disability, income) or `ward` (same as level=ward)"},
                               {"name": "by2", "in": "query", "schema": {"type": "string"},
                                "description": "A second group, crossed with the first"},
                               {"name": "estimator", "in": "query",
                                "schema": {"type": "string", "enum": ["direct", "fh"], "default": "direct"},
                                "description": "`fh`: model-based (Fay–Herriot small-area) estimates by ward; `estimate`, "
                                               "`se` (root MSE), `ci_low`, `ci_high`, `cv` are the model's, `direct*` the "
                                               "survey's, `gamma` the weight on the direct estimate"},
                               {"name": "benchmark", "in": "query", "schema": {"type": "string", "enum": ["ratio", "difference"]},
                                "description": "With `estimator=fh`: add `estimate_benchmarked` and `se_benchmarked` (root of "
                                               "MSE + squared adjustment), whose population-weighted mean is the city estimate"},
                               {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]}}],
                "responses": {"200": {"description": "The table", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {
                        "survey": {"type": "string"}, "indicator": {"type": "string"}, "level": {"type": "string"},
                        "kind": {"type": "string", "enum": ["share", "score", "categorical"],
                                 "description": "share and categorical: proportions (0-1) with logit intervals; "
                                                "score: a mean"},
                        "ci_method": {"type": "string", "nullable": True},
                        "by": {"type": "array", "items": {"type": "string"}}, "weights": {"type": "string"},
                        "benchmark": {"type": "number"}, "rows": {"type": "array", "items": row}}}}}},
                    "401": _error("No or bad token"), "403": _error("Not a researcher"),
                    "404": _error("No such survey"), "422": _error("A parameter this survey does not offer")}}},
            **{f"/research/{{slug}}/{path}.{{fmt}}": {"get": {
                "summary": summary,
                "security": [{"bearer": []}],
                "parameters": [SLUG, {"name": "fmt", "in": "path", "required": True,
                                      "schema": {"type": "string", "enum": export_formats}},
                               {"name": "lang", "in": "query", "schema": {"type": "string", "enum": ["vi", "en"]},
                                "description": "Language of variable and value labels (sav, dta)"}],
                "responses": {"200": {"description": "The file", "content": {
                    "text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                    "application/x-spss-sav": {}, "application/x-stata-dta": {},
                    "application/vnd.apache.parquet": {}}}, "401": _error("No or bad token")}}}
               for path, summary in MICRODATA.items()},
            "/research/{slug}/codebook.{fmt}": {"get": {
                "summary": "The bilingual codebook", "security": [{"bearer": []}],
                "parameters": [SLUG, {"name": "fmt", "in": "path", "required": True,
                                      "schema": {"type": "string", "enum": ["html", "csv"]}}],
                "responses": {"200": {"description": "The codebook"}}}},
            "/api/v1/openapi.json": {"get": {"summary": "This description",
                                             "responses": {"200": {"description": "OpenAPI 3"}}}},
        },
    }
