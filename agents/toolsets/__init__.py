"""Toolsets: every tool declared once (`ToolSpec`), run through one executor with the safety layer.

Public API (see agents/CONTRACT.md): the spec and result types, the registry, the executor, the audit
seam and the cluster client factory.
"""

from agents.audit import AuditRow, AuditSink, MemoryAuditSink
from agents.safety.levels import SafetyLevel
from agents.toolsets.base import ToolEnv, ToolFailure, ToolOutput, ToolResult, ToolSpec, ToolStatus
from agents.toolsets.executor import ToolExecutor
from agents.toolsets.kubernetes.clients import ClusterClients
from agents.toolsets.registry import ToolRegistry, ToolRegistryError, Toolset, ToolsetStatus
from agents.toolsets.shipped import default_registry
from agents.toolsets.status import toolset_statuses

__all__ = [
    "AuditRow", "AuditSink", "ClusterClients", "MemoryAuditSink", "SafetyLevel", "ToolEnv", "ToolExecutor",
    "ToolFailure", "ToolOutput", "ToolRegistry", "ToolRegistryError", "ToolResult", "ToolSpec", "ToolStatus",
    "Toolset", "ToolsetStatus", "default_registry", "toolset_statuses",
]
