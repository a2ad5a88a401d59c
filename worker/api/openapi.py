"""The OpenAPI 3.1 document served at ``/openapi.json``: docs/contract.md, machine-readable."""

from __future__ import annotations

from typing import Any

from worker.answer.voxlink import V1_FIELDS, V2_FIELDS


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _query(
    name: str, description: str, *, required: bool = False, example: str | None = None
) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }
    if example is not None:
        parameter["example"] = example
    return parameter


NUM = _query(
    "num", "The number: +74959898533, 84959898533, 4959898533, +<cc>..., 00<cc>...", example="+74959898533"
)
FIELD = _query(
    "field",
    "Answer only this field's value, as text/plain (empty when the number lacks it); a name no answer has "
    "is a 400",
)
UNKNOWN_FIELD = {"400": _json("Error", "field= names no field of this answer ({info, fields})")}
TRANSLIT = _query("translit", "1: Latin letters in every text value")
LIMITED = {"429": _json("Error", "Rate limit exceeded; see the Retry-After header")}
BATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"type": "array", "items": {"type": ["string", "integer"]}},
            "example": ["+74959898533", "79170415564"],
        }
    },
}
BATCH_ERRORS = {
    "400": _json("Error", "The body is not a JSON list of strings or integers"),
    "413": _json("Error", "More numbers than the batch limit"),
    **LIMITED,
}


SOURCE_HEADER = {
    "X-Numlookup-Source": {
        "description": "Where the operator came from: the numbering registry, the local MNP data, "
        "an upstream MNP source now, or its cached answer",
        "schema": {"type": "string", "enum": ["registry", "mnp", "upstream", "cache"]},
    }
}


def _plain_or(schema: str, description: str) -> dict[str, Any]:
    response = _json(schema, description)
    response["content"]["text/plain"] = {"schema": {"type": "string"}}
    response["headers"] = SOURCE_HEADER
    return response


PATHS: dict[str, Any] = {
    "/get/": {
        "get": {
            "summary": "v1: a Russian number's operator (after MNP) and region",
            "operationId": "lookupV1",
            "parameters": [NUM, FIELD, TRANSLIT],
            "responses": {
                "200": _plain_or("V1", "The answer (text/plain with field=)"),
                "404": _json("Error", "Malformed number, not in any range, not Russian, or no num"),
                "503": _json("Error", "A Russian number, and no registry data loaded to answer it from"),
                **UNKNOWN_FIELD,
                **LIMITED,
            },
        }
    },
    "/get/v2/": {
        "get": {
            "summary": "v2: any country's number",
            "operationId": "lookupV2",
            "parameters": [NUM, FIELD],
            "responses": {
                "200": _plain_or("V2", 'The answer, or {"destination": "not found"}'),
                "404": _json("Error", "No num parameter"),
                **UNKNOWN_FIELD,
                **LIMITED,
            },
        }
    },
    "/get/batch": {
        "post": {
            "summary": "v1 answers for a list of numbers, in order (errors as their 404 bodies)",
            "operationId": "batchV1",
            "parameters": [TRANSLIT],
            "requestBody": BATCH_BODY,
            "responses": {
                "200": {
                    "description": "One v1 body per number",
                    "content": {
                        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}
                    },
                },
                **BATCH_ERRORS,
            },
        }
    },
    "/get/v2/batch": {
        "post": {
            "summary": "v2 answers for a list of numbers, in order",
            "operationId": "batchV2",
            "requestBody": BATCH_BODY,
            "responses": {
                "200": {
                    "description": "One v2 body per number",
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/V2"}}
                        }
                    },
                },
                **BATCH_ERRORS,
            },
        }
    },
    "/health": {
        "get": {
            "summary": "Dataset version, source and age, Redis and AMI state",
            "operationId": "health",
            "responses": {
                "200": {
                    "description": "status ok, warning (the registry is older than data.stale_after_days) "
                    "or degraded (dataset, Redis or AMI missing)",
                    "content": {"application/json": {}},
                }
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics",
            "operationId": "metrics",
            "responses": {"200": {"description": "Text exposition format", "content": {"text/plain": {}}}},
        }
    },
}

INTEGER_FIELDS = {"cns", "country_code", "min_subscr_nr_length", "max_subscr_nr_length"}
V2_TYPES: dict[str, dict[str, Any]] = {
    **{name: {"type": "integer"} for name in INTEGER_FIELDS},
    "timezone": {"type": "string", "description": "IANA time zone (the main one if several)"},
    "utc_offset": {"type": "string", "pattern": "^[+-][0-9]{2}:[0-9]{2}$"},
    "timezones": {
        "type": "array",
        "items": {"type": "string"},
        "description": "when the number may be in several",
    },
    "callable_now": {
        "type": "boolean",
        "description": "inside the calling window, in the number's local time",
    },
}
SCHEMAS: dict[str, Any] = {
    "V1": {
        "type": "object",
        "properties": {name: {"type": "string"} for name in V1_FIELDS}
        | {
            "region": {
                "type": "string",
                "description": "the federal subject: Республика Татарстан, г. Москва",
            },
            "locality": {
                "type": "string",
                "description": "added to num.voxlink.ru's keys, only when the registry names a place "
                "inside the subject: г. Казань, р-н Аургазинский",
            },
        },
        "required": ["code", "num", "full_num", "operator", "region"],
    },
    "V2": {
        "type": "object",
        "properties": {name: V2_TYPES.get(name, {"type": "string"}) for name in V2_FIELDS},
        "description": 'A number answer, or {"destination": "not found"}',
    },
    "Error": {
        "type": "object",
        "properties": {"info": {"type": "string"}, "example": {"type": "array", "items": {"type": "string"}}},
        "required": ["info"],
    },
}


def document(version: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "numlookup",
            "version": version,
            "description": "A drop-in for num.voxlink.ru: operator after MNP, region, country, line type.",
        },
        "paths": PATHS,
        "components": {"schemas": SCHEMAS},
    }
