"""``GET /residents/{resident_id}/persona``: one resident's persona tags with reasons, and their segment.

Resident-level data: platform and admin keys only (a planner key gets 403).
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, HTTPException, Path, Request, status

from serving.deps import PlatformAccess, ServedModelDep
from serving.feedback_models import MAX_ID
from serving.privacy_edge import stored_id
from serving.schemas import PersonaPublic, QueryText, ResidentPersonaPublic

router = APIRouter(prefix="/residents", tags=["residents"], dependencies=[PlatformAccess])


@router.get("/{resident_id}/persona", response_model=ResidentPersonaPublic, summary="A resident's personas",
            responses={401: {"description": "missing or unknown API key"},
                       403: {"description": "the key's role may not read one resident's data"},
                       404: {"description": "unknown resident"}, 503: {"description": "no model loaded yet"}})
def resident_persona(
    resident_id: Annotated[QueryText, Path(min_length=1, max_length=MAX_ID, description="pseudonymous resident id")],
    served: ServedModelDep, request: Request,
) -> ResidentPersonaPublic:
    """Persona tags (each with the rule that gave it) and the learned segment, as of the model's cut-off."""
    profile = served.bundle.profile
    reasons = profile.personas.reasons
    raw, resident_id = resident_id, stored_id(request, resident_id)
    if resident_id not in reasons.index:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"unknown resident {raw!r} for model version {served.version}")
    row = reasons.loc[resident_id]
    personas = [PersonaPublic(persona=str(p), reason=str(r)) for p, r in row.items() if r is not None and not
                (isinstance(r, float) and pd.isna(r))]
    segment = profile.segments.get(resident_id)
    segment_id = None if segment is None or pd.isna(segment) else int(segment)
    descriptions = profile.segment_model.descriptions_
    described = segment_id is not None and segment_id in descriptions.index
    return ResidentPersonaPublic(
        resident_id=raw, model_version=served.version, personas=personas, segment=segment_id,
        segment_description=str(descriptions.at[segment_id, "description_en"]) if described else None,
        segment_description_zh=str(descriptions.at[segment_id, "description_zh"]) if described else None)
