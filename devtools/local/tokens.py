"""A local RSA signing key standing in for the identity provider, plus the JWT checks API Gateway makes."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KID = "sevdesk-local-dev"
TWELVE_HOURS = 12 * 3600


class AuthError(Exception):
    """Why the authorizer refused; `description` goes into www-authenticate like API Gateway's."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True)
class ClaimNames:
    roles: str = "roles"
    user_type: str = "user_type"
    internal: str = "internal"


class DevKeys:
    def __init__(self, key: rsa.RSAPrivateKey, issuer: str, audience: list[str], claims: ClaimNames) -> None:
        self.key = key
        self.issuer = issuer
        self.audience = audience
        self.claims = claims

    @classmethod
    def load_or_create(
        cls, pem_path: Path | None, issuer: str, audience: list[str], claims: ClaimNames
    ) -> DevKeys:
        """Reuse the key in .local/ so tokens printed earlier survive a restart."""
        if pem_path and pem_path.exists():
            key = serialization.load_pem_private_key(pem_path.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if pem_path:
                pem_path.parent.mkdir(parents=True, exist_ok=True)
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                pem_path.write_bytes(pem)
                pem_path.chmod(0o600)
        return cls(key, issuer, audience, claims)

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]}

    def mint(
        self,
        sub: str,
        roles: list[str],
        user_type: str | None = None,
        ttl: int = TWELVE_HOURS,
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience[0] if len(self.audience) == 1 else self.audience,
            "sub": sub,
            "iat": now,
            "nbf": now - 5,
            "exp": now + ttl,
            self.claims.roles: roles,
            self.claims.user_type: user_type if user_type is not None else self.claims.internal,
            **extra,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KID})

    def verify(self, token: str) -> dict[str, Any]:
        """The checks of an HTTP API JWT authorizer: signature, iss, aud (or client_id), exp, nbf."""
        try:
            claims = jwt.decode(
                token,
                self.key.public_key(),
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_iss": False, "require": ["exp"]},
                leeway=0,
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("the token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise AuthError("the token is not valid yet") from exc
        except jwt.InvalidSignatureError as exc:
            raise AuthError("the token has an invalid signature") from exc
        except jwt.PyJWTError as exc:
            raise AuthError("the token could not be parsed") from exc
        if claims.get("iss") != self.issuer:
            raise AuthError("the token does not have a valid issuer")
        # API Gateway checks client_id only when aud is absent.
        aud = claims["aud"] if "aud" in claims else claims.get("client_id")
        auds = aud if isinstance(aud, list) else [aud]
        if not set(auds) & set(self.audience):
            raise AuthError("the token does not have a valid audience")
        return claims

    def dev_tokens(self) -> dict[str, str]:
        return {
            "admin": self.mint("dev-admin", ["admin", "staff"]),
            "staff": self.mint("dev-staff", ["staff"]),
        }


def gateway_claims(claims: dict[str, Any]) -> dict[str, str]:
    """API Gateway HTTP APIs hand claims over as strings; arrays become "[a b]"."""
    out = {}
    for key, value in claims.items():
        if isinstance(value, list):
            out[key] = "[" + " ".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            out[key] = str(value).lower()
        elif isinstance(value, dict):
            out[key] = json.dumps(value, separators=(",", ":"))
        else:
            out[key] = str(value)
    return out
