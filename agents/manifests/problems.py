"""One problem found in a pasted or generated manifest, said precisely: which document, which field."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ManifestProblem(BaseModel):
    document: int  # 0-based position in the pasted text
    object: str  # "Deployment/web", or "" when the document has no kind/name
    path: str  # field path, "" for the whole document
    rule: str  # "yaml", "schema", or the lint rule's name
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"document {self.document}" + (f" ({self.object})" if self.object else "")
        return f"{where}: {self.path + ': ' if self.path else ''}{self.message} [{self.rule}]"
