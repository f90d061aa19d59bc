"""The HTTP API's JWT authorizer behaves like API Gateway's: 401 with its body and challenge."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devtools.local.stack import LocalStack
from tests.e2e.e2e_support import bearer

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
ROUTE = "/api/sevdesk/config"


def _assert_unauthorized(resp: httpx.Response, description: str | None) -> None:
    assert resp.status_code == 401
    assert resp.json() == {"message": "Unauthorized"}
    challenge = resp.headers["www-authenticate"]
    if description is None:
        assert challenge == "Bearer"
    else:
        assert challenge == f'Bearer scope="" error="invalid_token" error_description="{description}"'


def test_no_token_is_401_with_api_gateway_body(api: httpx.Client) -> None:
    _assert_unauthorized(api.get(ROUTE), None)


def test_bad_signature_is_401(api: httpx.Client, stack: LocalStack) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"iss": stack.keys.issuer, "aud": stack.keys.audience[0], "sub": "x", "exp": time.time() + 60}
    forged = jwt.encode(claims, other_key, algorithm="RS256")
    _assert_unauthorized(api.get(ROUTE, headers=bearer(forged)), "the token has an invalid signature")


def test_wrong_issuer_is_401(api: httpx.Client, stack: LocalStack) -> None:
    token = stack.mint_token("x", ["admin"], iss="https://evil.example/")
    _assert_unauthorized(api.get(ROUTE, headers=bearer(token)), "the token does not have a valid issuer")


def test_wrong_audience_is_401(api: httpx.Client, stack: LocalStack) -> None:
    token = stack.mint_token("x", ["admin"], aud="someone-else")
    _assert_unauthorized(api.get(ROUTE, headers=bearer(token)), "the token does not have a valid audience")


def test_expired_token_is_401(api: httpx.Client, stack: LocalStack) -> None:
    token = stack.mint_token("x", ["admin"], ttl=-10)
    _assert_unauthorized(api.get(ROUTE, headers=bearer(token)), "the token has expired")


def test_not_yet_valid_token_is_401(api: httpx.Client, stack: LocalStack) -> None:
    token = stack.mint_token("x", ["admin"], nbf=int(time.time()) + 600)
    _assert_unauthorized(api.get(ROUTE, headers=bearer(token)), "the token is not valid yet")


def test_raw_token_without_bearer_is_accepted(api: httpx.Client, stack: LocalStack) -> None:
    resp = api.get(ROUTE, headers={"Authorization": stack.admin_token})
    assert resp.status_code != 401


def test_jwks_serves_the_signing_key(api: httpx.Client, stack: LocalStack) -> None:
    jwks = api.get("/.well-known/jwks.json").json()
    key = jwt.PyJWK(jwks["keys"][0])
    claims = jwt.decode(stack.admin_token, key.key, algorithms=["RS256"], audience=stack.keys.audience)
    assert claims["sub"] == "dev-admin"
    assert claims["roles"] == ["admin", "staff"]
