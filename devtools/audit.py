"""`python -m devtools.audit verify-chains`: check every invoice's event log (GoBD hash chain)
through the admin route, page by page, and name each break. Exit code 1 when any log is broken.

Against the local stack it takes the API URL and the admin token from the state dir
(`.local/tokens.json`); against AWS pass `--api-url` and `--token` (an admin JWT)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import httpx

ROUTE = "/api/sevdesk/audit/event-chains"


def verify_chains(api_url: str, token: str, *, page_size: int = 200) -> tuple[int, list[dict[str, Any]]]:
    """(invoices checked, broken chains) over every page."""
    checked, broken = 0, []
    cursor: str | None = None
    with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            answer = http.get(ROUTE, params=params)
            answer.raise_for_status()
            page = answer.json()
            checked += page["checked"]
            broken += page["broken"]
            cursor = page.get("nextCursor")
            if not cursor:
                return checked, broken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.audit", description=__doc__)
    parser.add_argument("command", choices=["verify-chains"])
    parser.add_argument("--state-dir", type=Path, default=Path(".local"))
    parser.add_argument("--api-url", help="default: the local stack's (state dir)")
    parser.add_argument("--token", help="an admin JWT; default: the local stack's dev admin")
    args = parser.parse_args(argv)
    api_url, token = args.api_url, args.token
    if not (api_url and token):
        tokens = args.state_dir / "tokens.json"
        if not tokens.exists():
            print(f"no {tokens}: start the local stack, or pass --api-url and --token", file=sys.stderr)
            return 2
        local = json.loads(tokens.read_text())
        api_url, token = api_url or local["api_url"], token or local["admin"]
    checked, broken = verify_chains(api_url, token)
    for chain in broken:
        for found in chain["chain"]["breaks"]:
            where = f"{chain['invoiceId']} event {found.get('seq')}"
            print(f"BROKEN {where}: {found['problem']}: {found['message']}")
    print(f"{checked} invoice logs checked, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
