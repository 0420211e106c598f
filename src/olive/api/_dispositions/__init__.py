"""/disposition-codes and /calls/{call_id}/disposition: what agents say about calls, and what follows."""

from olive.api._dispositions.endpoints import router

__all__ = ["router"]
