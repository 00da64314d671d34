"""Open data for the public-investment ecosystem: the approved plans' facilities as an OC4IDS project package.

Anonymous and public like the public map: only the facilities the public sees, public fields only
(tracking.oc4ids). `lang` (kk, ru, en; default en) picks the language of titles and descriptions.
"""

from __future__ import annotations

import hashlib
import json

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny

from api.common import ApiView, cache_headers, conditional, raw_response
from api.openapi import problem
from gis_portal.geo.collections import ParamError
from tracking import oc4ids

CONTENT_TYPE = "application/json"


class Oc4idsView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="open_data_oc4ids",
        parameters=[
            OpenApiParameter(
                "lang", OpenApiTypes.STR, enum=list(oc4ids.LANGUAGES), description="language of titles (default en)"
            )
        ],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="OC4IDS 0.9 project package"),
            400: problem("unknown language"),
            404: problem("no plan approved yet: no project to publish"),
        },
        tags=["open data"],
    )
    def get(self, request):
        """The facilities of the current approved plans as OC4IDS projects (one per facility)."""
        language = request.query_params.get("lang") or oc4ids.DEFAULT_LANGUAGE
        if language not in oc4ids.LANGUAGES:
            raise ParamError(
                "lang",
                _("%(value)r is not a language; use one of %(allowed)s")
                % {"value": language, "allowed": ", ".join(oc4ids.LANGUAGES)},
            )
        base = request.build_absolute_uri("/").rstrip("/")
        uri = request.build_absolute_uri(reverse("api-open-data-oc4ids") + f"?lang={language}")
        package = oc4ids.oc4ids_package(language=language, uri=uri, base_url=base)
        if not package.body["projects"]:
            # OC4IDS requires at least one project (projects: minItems 1): no package rather than an invalid one.
            raise exceptions.NotFound(
                _("no plan has been approved yet: there is no project to publish (an OC4IDS package needs one)")
            )
        body = json.dumps(package.body, ensure_ascii=False, separators=(",", ":")).encode()
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        # By the ETag alone: a derived stage (a parcel's act) can change the body without a newer stamp.
        not_modified = conditional(request, etag=etag, last_modified=None)
        if not_modified is not None:
            return not_modified
        response = raw_response(body, CONTENT_TYPE)
        response["Content-Disposition"] = f'inline; filename="oc4ids-{language}.json"'
        return cache_headers(response, request=request, etag=etag, last_modified=package.published)
