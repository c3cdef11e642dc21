"""The shared vocabulary: categories, pillars, profiles and the sections of a check's docs.

The bottom floor: it imports nothing from the package, so config, the registry, scoring, the
check API and the outputs can all name the same words without importing each other.
"""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "deploy": "Deployment scripts",
    "secrets": "Secrets handling",
    "systemd": "systemd units",
    "network": "Firewall, DNS and TLS",
    "monitoring": "Monitoring and alerting",
    "backup": "Backups",
    "dr": "Disaster recovery",
    "incident": "Incident response",
    "topology": "Cross-host topology",
    "target": "Target access",
}
PILLARS = (
    "code_quality",
    "security",
    "performance",
    "reliability",
    "observability",
    "operations",
    "compliance",
)
PROFILES = ("baseline", "hardened", "certified")  # each includes the checks of the ones before it

# Sections of a check docstring, in the order `explain` and the reports show them. Every built-in
# check has the required ones; "Severity" (why the check's severity is what it is) is optional.
REQUIRED_DOC_SECTIONS = ("What it does", "Why it matters", "Example", "Fix", "References")
DOC_SECTIONS = (*REQUIRED_DOC_SECTIONS, "Severity")


def profile_includes(profile: str, check_profile: str) -> bool:
    """Does a run at ``profile`` include a check declared at ``check_profile``?"""
    return PROFILES.index(check_profile) <= PROFILES.index(profile)
