"""The FastAPI dependencies of the routers: `account: CurrentAccount` in a route's signature
is the account the request is for (wagw.api.context.current_account)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from wagw.accounts import Account
from wagw.api.context import current_account

CurrentAccount = Annotated[Account, Depends(current_account)]
