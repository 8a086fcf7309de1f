"""The one exception type the loaders and policy loading raise for bad input."""

from __future__ import annotations


class ScanError(Exception):
    """Input that cannot be read: unreadable file, syntax error, invalid policy or config.

    Always carries the file and, where there is one, the 1-based line (and column).
    """

    def __init__(self, file: str, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.file = file
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"
