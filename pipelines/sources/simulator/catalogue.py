"""Tools, systems and scopes that each simulated agent kind works with.

Normal behaviour only picks tools from its kind's catalogue, so the catalogue must stay
inside the approved boundary of `config/boundaries.yaml`, and a test checks that it does.
Scope names follow the `<system>.<object>.<verb>` style of OAuth resource servers. The
optional scopes are all low risk: none of their name parts is admin, write, delete or export.
"""

from __future__ import annotations

from dataclasses import dataclass

SUPPORT_BOT = "support_bot"
RESEARCH_ASSISTANT = "research_assistant"
DEV_ASSISTANT = "dev_assistant"
AGENT_KINDS = (SUPPORT_BOT, RESEARCH_ASSISTANT, DEV_ASSISTANT)


@dataclass(frozen=True)
class Tool:
    """One tool an agent can call: where it acts, how, on what data, under which scope."""

    name: str
    system: str
    action: str
    classification: str
    scope: str
    resource_prefix: str


def _tool(name: str, system: str, action: str, classification: str, scope: str, prefix: str):
    return Tool(name, system, action, classification, scope, prefix)


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        # support_bot, delegated user scopes
        _tool("helpdesk.get_ticket", "helpdesk", "read", "confidential", "tickets.read", "ticket"),
        _tool("helpdesk.add_comment", "helpdesk", "write", "internal", "tickets.comment", "ticket"),
        _tool("kb.search_articles", "kb", "read", "public", "kb.articles.read", "article"),
        # support_bot, delegated or service account
        _tool("crm.get_contact", "crm", "read", "confidential", "crm.contacts.read", "contact"),
        _tool(
            "crm.update_contact", "crm", "write", "confidential", "crm.contacts.write", "contact"
        ),
        _tool("crm.get_account", "crm", "read", "confidential", "crm.accounts.read", "account"),
        _tool("crm.list_notes", "crm", "read", "internal", "crm.notes.read", "note"),
        _tool(
            "helpdesk.list_macros", "helpdesk", "read", "internal", "helpdesk.macros.read", "macro"
        ),
        # research_assistant
        _tool("search.web_query", "web", "read", "public", "search.query", "query"),
        _tool("docs.read_document", "docs", "read", "internal", "docs.read", "doc"),
        _tool("notes.save_summary", "notes", "write", "internal", "notes.write", "note"),
        _tool("wiki.get_page", "wiki", "read", "internal", "wiki.pages.read", "page"),
        _tool("papers.fetch", "papers", "read", "public", "papers.read", "paper"),
        _tool("datasets.get_table", "datasets", "read", "internal", "datasets.read", "table"),
        _tool("calendar.list_events", "calendar", "read", "internal", "calendar.read", "event"),
        # dev_assistant
        _tool("repo.read_file", "git", "read", "internal", "repo.contents.read", "file"),
        _tool("repo.push_commit", "git", "write", "internal", "repo.contents.write", "branch"),
        _tool("ci.run_pipeline", "ci", "execute", "internal", "ci.pipelines.run", "pipeline"),
        _tool("issues.get_issue", "issues", "read", "internal", "issues.read", "issue"),
        _tool("issues.add_comment", "issues", "write", "internal", "issues.comment", "issue"),
        _tool("packages.get_metadata", "registry", "read", "public", "packages.read", "package"),
        _tool("docs.search", "docs", "read", "internal", "docs.read", "doc"),
    )
}


@dataclass(frozen=True)
class KindProfile:
    """Profile of one agent kind: its granted scopes and the tools it uses."""

    kind: str
    core_scopes: tuple[str, ...]  # held by every principal of the kind, granted before the period
    optional_scopes: tuple[str, ...]  # low-risk; each principal holds some, noise adds others
    delegated_tools: tuple[str, ...] = ()  # used under the delegated user's token
    scope_tools: dict[str, str] | None = None  # scope -> the tool that exercises it


SUPPORT_PROFILE = KindProfile(
    SUPPORT_BOT,
    core_scopes=("crm.contacts.read", "crm.contacts.write"),
    optional_scopes=("crm.accounts.read", "crm.notes.read", "helpdesk.macros.read"),
    delegated_tools=(
        "helpdesk.get_ticket",
        "crm.get_contact",
        "kb.search_articles",
        "helpdesk.add_comment",
    ),
    scope_tools={
        "crm.contacts.read": "crm.get_contact",
        "crm.contacts.write": "crm.update_contact",
        "crm.accounts.read": "crm.get_account",
        "crm.notes.read": "crm.list_notes",
        "helpdesk.macros.read": "helpdesk.list_macros",
    },
)
RESEARCH_PROFILE = KindProfile(
    RESEARCH_ASSISTANT,
    core_scopes=("search.query", "docs.read", "notes.write"),
    optional_scopes=("wiki.pages.read", "papers.read", "datasets.read", "calendar.read"),
    scope_tools={
        "search.query": "search.web_query",
        "docs.read": "docs.read_document",
        "notes.write": "notes.save_summary",
        "wiki.pages.read": "wiki.get_page",
        "papers.read": "papers.fetch",
        "datasets.read": "datasets.get_table",
        "calendar.read": "calendar.list_events",
    },
)
DEV_PROFILE = KindProfile(
    DEV_ASSISTANT,
    core_scopes=("repo.contents.read", "repo.contents.write", "ci.pipelines.run"),
    optional_scopes=("issues.read", "issues.comment", "packages.read", "docs.read"),
    scope_tools={
        "repo.contents.read": "repo.read_file",
        "repo.contents.write": "repo.push_commit",
        "ci.pipelines.run": "ci.run_pipeline",
        "issues.read": "issues.get_issue",
        "issues.comment": "issues.add_comment",
        "packages.read": "packages.get_metadata",
        "docs.read": "docs.search",
    },
)
PROFILES: dict[str, KindProfile] = {
    profile.kind: profile for profile in (SUPPORT_PROFILE, RESEARCH_PROFILE, DEV_PROFILE)
}


def tool_for_scope(kind: str, scope: str) -> Tool:
    """Return the tool that exercises `scope` for agents of `kind`."""
    scope_tools = PROFILES[kind].scope_tools or {}
    try:
        return TOOLS[scope_tools[scope]]
    except KeyError:
        raise KeyError(f"no {kind} tool exercises scope {scope!r}") from None


def kind_tools(kind: str) -> list[Tool]:
    """Return every tool that normal behaviour of `kind` may call."""
    profile = PROFILES[kind]
    names = list(profile.delegated_tools) + list((profile.scope_tools or {}).values())
    return [TOOLS[name] for name in dict.fromkeys(names)]
