"""Idempotency-Key on every /v1 POST: same key and body replay the first response."""

from __future__ import annotations

import functools
import hashlib
from datetime import timedelta

import sqlalchemy as sa
from flask import Response, make_response, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from bridge import errors, store
from bridge.api.auth import principal
from bridge.api.problems import from_http_exception, problem
from bridge.store.models import IdempotencyRecord, utcnow

HEADER = "Idempotency-Key"
MAX_KEY = 255
TTL = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=2)
"""A request still 'processing' after this long is taken to have crashed; the key is free again."""


def key_from_request() -> str | None:
    """The Idempotency-Key header, checked, or None."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY:
        raise errors.ValidationFailed(f"{HEADER} must be 1 to {MAX_KEY} characters.",
                                      errors=[{"field": f"headers.{HEADER}", "message": f"1 to {MAX_KEY} characters."}])
    return key


def body_hash() -> str:
    """SHA-256 of the raw body."""
    return hashlib.sha256(request.get_data(cache=True)).hexdigest()


def route_scope() -> str:
    """What a key is scoped to, besides the account: the method and path."""
    return f"{request.method} {request.path}"


def replay(record: IdempotencyRecord, digest: str) -> Response:
    """Answer a repeated key: 409 for another body or while in flight, else the first response."""
    if record.status_code is None:
        raise errors.Conflict("A request with this Idempotency-Key is still being processed.",
                              headers={"Retry-After": "1"})
    if record.body_hash != digest:
        raise errors.Conflict("This Idempotency-Key was used with another body.")
    response = Response(record.response_body, status=record.status_code,
                        mimetype="application/problem+json" if record.status_code >= 400 else "application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _claim(account_id: str, scope: str, key: str, digest: str) -> IdempotencyRecord | None:
    """Insert a 'processing' record; the existing live record if the key is taken."""
    db = store.session()
    now = utcnow()
    try:
        db.add(IdempotencyRecord(account_id=account_id, route=scope, key=key, body_hash=digest,
                                 created_at=now, expires_at=now + TTL))
        db.commit()
        return None
    except IntegrityError:
        db.rollback()
    record = db.get(IdempotencyRecord, (account_id, scope, key))
    stale = record and (record.expires_at <= now or (
        record.status_code is None and record.created_at <= now - ABANDONED_AFTER))
    if record is None or stale:
        db.execute(sa.delete(IdempotencyRecord).where(
            IdempotencyRecord.account_id == account_id, IdempotencyRecord.route == scope,
            IdempotencyRecord.key == key))
        db.commit()
        return _claim(account_id, scope, key, digest)
    return record


def _finish(account_id: str, scope: str, key: str, response: Response) -> None:
    """Keep the response for replay, or free the key when the request was not accepted."""
    db = store.session()
    db.rollback()
    where = (IdempotencyRecord.account_id == account_id, IdempotencyRecord.route == scope,
             IdempotencyRecord.key == key)
    if response.status_code >= 500 or response.status_code == 429:
        db.execute(sa.delete(IdempotencyRecord).where(*where))
    else:
        db.execute(sa.update(IdempotencyRecord).where(*where).values(
            status_code=response.status_code, response_body=response.get_data(as_text=True)))
    db.commit()


def idempotent(view):
    """Decorate a POST view so an Idempotency-Key replays its first response."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = key_from_request()
        if key is None:
            return view(*args, **kwargs)
        account_id, scope, digest = principal().account_id, route_scope(), body_hash()
        existing = _claim(account_id, scope, key, digest)
        if existing is not None:
            return replay(existing, digest)
        try:
            response = make_response(view(*args, **kwargs))
        except errors.BridgeError as exc:
            response = problem(exc)
        except HTTPException as exc:
            response = from_http_exception(exc)
        except Exception:
            _finish(account_id, scope, key, Response(status=500))
            raise
        _finish(account_id, scope, key, response)
        return response

    return wrapper


def accepted_response(accepted) -> Response:
    """The response of an accepted write (or its replay): the stored body and status, marked when replayed."""
    response = Response(accepted.body, status=accepted.status,
                        mimetype="application/problem+json" if accepted.status >= 400 else "application/json")
    if accepted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
