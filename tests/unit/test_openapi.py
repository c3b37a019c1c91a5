"""The published OpenAPI document, from a document shaped as BentoML 1.4.39 writes one (the
service tests validate every service's own with openapi-spec-validator)."""

from __future__ import annotations

from openapi_spec_validator import validate

from bentos.common.openapi import document
from training.common.contract import Route

ERRORS = {"400": {"description": "Bad Request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InvalidArgument"}}}}}
BENTOML = {
    "openapi": "3.0.2", "info": {"title": "wallhack", "version": "None", "description": "BentoML badges", "contact": {"name": "BentoML Team"}},
    "paths": {
        "/livez": {"get": {"responses": {200: {"description": "OK"}}}},  # int keys, as service.openapi_spec.asdict() has them
        "/predict": {"post": {"responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}, **ERRORS},
                              "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
                                  "image": {"type": "file", "format": "binary"},
                                  "threshold": {"type": "number", "default": None}}}}}}}}},
    "components": {"schemas": {"InvalidArgument": {"type": "object"}, "predict__Input": {"type": "object", "properties": {
        "image": {"type": "file"}, "threshold": {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None}}}}},
}


def test_bentomls_document_is_invalid_and_the_published_one_valid():
    try:
        validate(BENTOML)
    except Exception:  # noqa: BLE001 - any validation error: what this module exists to fix
        pass
    else:
        raise AssertionError("BentoML's shape validated; the fixture no longer shows the fault")
    published = document(BENTOML, "wallhack:abc", "1234567", "Screenshots in, verdicts out.", [Route("/predict", errors=(409,))])
    validate(published)
    assert published["info"] == {"title": "wallhack", "version": "wallhack:abc (git 1234567)", "description": "Screenshots in, verdicts out."}
    assert BENTOML["openapi"] == "3.0.2"  # the input is left as it was


def test_files_are_binary_strings_and_null_defaults_may_be_null():
    published = document(BENTOML, "m:v", "s", "", [])
    form = published["paths"]["/predict"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert form["image"] == {"type": "string", "format": "binary"} and form["threshold"]["type"] == ["number", "null"]
    assert published["components"]["schemas"]["predict__Input"]["properties"]["image"]["type"] == "string"


def test_protected_routes_list_every_error_and_open_ones_need_no_key():
    published = document(BENTOML, "m:v", "s", "", [Route("/predict", errors=(409,))])
    responses = published["paths"]["/predict"]["post"]["responses"]
    assert set(responses) == {"200", "400", "401", "403", "408", "409", "413", "415", "429", "500", "503", "504"}
    assert published["paths"]["/livez"]["get"]["security"] == [] and published["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "InvalidArgument" not in published["components"]["schemas"] and "Error" in published["components"]["schemas"]
    assert set(published["components"]["responses"]["429"]["headers"]) == {"Retry-After"}


def test_a_route_answering_html_is_documented_as_html():
    published = document(BENTOML, "m:v", "s", "", [Route("/predict", media_type="text/html")])
    assert published["paths"]["/predict"]["post"]["responses"]["200"]["content"] == {"text/html": {"schema": {"type": "string"}}}
    validate(published)
