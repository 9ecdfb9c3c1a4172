"""Bodies of the service's own answers: health, readiness and problems."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

# Health and problems.


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"]


class Ready(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ready"}]})

    status: Literal["ready"]


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 `application/problem+json`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "https://smsledger.dev/problems/invalid-input",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "phones[0]: '555' is not a valid phone number",
                    "errors": [
                        {
                            "field": "phones[0]",
                            "message": "'555' is not a valid phone number",
                        }
                    ],
                }
            ]
        }
    )

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError]
