"""Create a staff API key and print it once: how the first admin gets in (`python -m infra.bootstrap`).

Against AWS, pass the StaffKeysTableName output of the stack; locally the stack calls `create_admin_key`.
"""

from __future__ import annotations

import argparse

from doti.auth.staff import create_staff_key
from doti.clock import utcnow
from doti.entities import StaffMember
from doti.store.models import StaffKeyModel


def create_admin_key(name: str, role: str = "admin") -> tuple[StaffMember, str]:
    return create_staff_key(name, role, utcnow())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.bootstrap", description=__doc__)
    parser.add_argument("--name", required=True, help="the staff member the key belongs to")
    parser.add_argument("--role", choices=("admin", "operator"), default="admin")
    parser.add_argument("--table", required=True, help="the StaffKeysTableName output of the deployed stack")
    parser.add_argument("--region", required=True)
    args = parser.parse_args(argv)
    StaffKeyModel.Meta.table_name = args.table
    StaffKeyModel.Meta.region = args.region
    StaffKeyModel._connection = None
    member, key = create_admin_key(args.name, args.role)
    print(
        f"staff id: {member.staff_id}\nrole:     {member.role}\nAPI key:  {key}\n(shown once; only its hash is stored)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
