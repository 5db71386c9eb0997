"""The error a user can fix from the command line (bad path, unknown backbone or layer)."""


class StyleTransferError(ValueError):
    """Bad style-transfer input; the message names the problem and the fix in one line."""
