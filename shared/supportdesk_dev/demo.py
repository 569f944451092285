"""Demo data for `make dev`: the departments, a customer with services, an agent.

The departments are the ones template.yaml declares (its Departments custom resource), so
the demo and a freshly deployed stack have the same ones.

The credentials are printed in the banner and listed in README.md.
"""

from __future__ import annotations

from typing import Any

from supportdesk.accounts import AccountExists, find_account_by_email, register_account
from supportdesk.agents import record_agent
from supportdesk.store import Table
from supportdesk_dev.provision import seed_departments

DEMO_CUSTOMER = {
    "email": "cliente@example.com",
    "name": "Ana Demo",
    "password": "demo-cliente",
    "services": ("Hosting Pro — ana-demo.es", "Dominio ana-demo.es", "VPS 2 GB — vps12.example.net"),
}
DEMO_AGENT = {
    "email": "agente@example.com",
    "name": "Carlos Demo",
    "password": "demo-agente",
}


def seed_demo(cognito: Any, table: Table, user_pool_id: str, mail_domain: str) -> None:
    """Add what is missing; what a developer changed since is left alone."""
    seed_departments(table, mail_domain)
    for data, agent in ((DEMO_CUSTOMER, False), (DEMO_AGENT, True)):
        try:
            register_account(cognito, table, user_pool_id, agent=agent, **data)
        except AccountExists:
            existing = find_account_by_email(table, str(data["email"]))
            if agent and existing is not None:  # made before agents had a directory entry
                record_agent(table, existing)
