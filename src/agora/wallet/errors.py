"""What the wallet refuses."""

from agora.kernel.errors import Conflict


class InsufficientFunds(Conflict):
    default_code = "insufficient_funds"
    default_detail = "The balance is too low for this."
