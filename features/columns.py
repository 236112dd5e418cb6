"""Column names and the closed vocabularies of Linli's data contracts, in one place."""

from __future__ import annotations

from typing import Final


class Columns:
    """Names of the columns in every table Linli reads or writes.

    Use these constants instead of string literals so a rename is one edit.
    """

    # ids
    RESIDENT: Final = "resident_id"
    SERVICE: Final = "service_id"
    COMMUNITY: Final = "community_id"
    STREET: Final = "street_id"
    DISTRICT: Final = "district_id"

    # residents
    BIRTH_YEAR: Final = "birth_year"
    HOUSEHOLD_SIZE: Final = "household_size"
    CHILDREN: Final = "children_under_18"
    EMPLOYMENT: Final = "employment"
    RESIDENCY: Final = "residency"
    MONTHS_RESIDENT: Final = "months_resident"
    ACCESSIBILITY: Final = "accessibility_needs"
    PREFERRED_CHANNEL: Final = "preferred_channel"
    WORK_DISTRICT: Final = "work_district"
    DEPARTURE_HOUR: Final = "usual_departure_hour"

    # communities
    COMMUNITY_NAME: Final = "community_name"
    STREET_NAME: Final = "street_name"
    DISTRICT_NAME: Final = "district_name"
    COMMUNITY_KIND: Final = "community_kind"
    LATITUDE: Final = "latitude"
    LONGITUDE: Final = "longitude"

    # services
    CATEGORY: Final = "category"
    NAME_ZH: Final = "name_zh"
    NAME_EN: Final = "name_en"
    PROVIDER: Final = "provider"
    CHANNEL: Final = "channel"
    MIN_AGE: Final = "min_age"
    MAX_AGE: Final = "max_age"
    REQUIRES_CHILDREN: Final = "requires_children"
    RESIDENCY_REQUIRED: Final = "residency_required"
    ACCESSIBLE: Final = "accessible"
    OPENING_HOURS: Final = "opening_hours"
    COMMUNITY_SCOPE: Final = "community_scope"
    COST: Final = "cost_yuan"
    ONE_OFF: Final = "one_off"
    DESCRIPTION: Final = "description"

    # interactions
    TIMESTAMP: Final = "timestamp"
    EVENT: Final = "event"
    RATING: Final = "rating"
    COMMENT: Final = "comment"


class Vocab:
    """Closed vocabularies: the only values a categorical field may take."""

    EMPLOYMENT: Final = ("employed", "retired", "student", "unemployed", "other")
    RESIDENCY: Final = ("registered", "floating")
    CHANNEL: Final = ("online", "offline", "both")
    ACCESSIBILITY: Final = ("none", "mobility", "visual", "hearing", "cognitive")
    RESIDENCY_REQUIRED: Final = ("any", "registered", "floating")
    # Ordered from weakest to strongest signal of interest.
    EVENTS: Final = ("impression", "view", "click", "book", "use", "rate")
    EVENT_CHANNEL: Final = ("online", "offline")
    COMMUNITY_KINDS: Final = ("ageing", "young_family", "commuter", "migrant_heavy", "mixed")
    SERVICE_CATEGORIES: Final = (
        "elderly_care",
        "health",
        "childcare",
        "employment",
        "administration",
        "convenience",
        "culture_sports",
        "volunteering",
        "accessibility",
        "legal_social",
        "youth_study",
    )
    PERSONAS: Final = (
        "elderly",
        "family_with_children",
        "commuter",
        "migrant",
        "accessibility_needs",
        "student",
        "job_seeker",
    )


#: Separator used inside list-valued string cells such as ``community_scope``.
LIST_SEPARATOR: Final = ";"
