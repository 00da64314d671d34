"""Pages of the consolidated plans' Excel workbooks: download (any role, as the plan pages), upload
(ministry). Thin: the workbook is tracking.plan_xlsx, the rows go through tracking.services.plan_import."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.permissions import Action, can
from tracking import selectors, services
from tracking.forms import PlanItemForm, PlanUploadForm
from tracking.models import Plan
from tracking.plan_xlsx import XLSX_CONTENT_TYPE, PlanFileError, workbook_read
from tracking.views import _region_scope, plan_page_render


def _xlsx_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def plans_xlsx(request):
    """The current approved plans (12 and 13) as one workbook, the template to fill in."""
    _region_scope(request.user)
    data = selectors.plan_workbook(plans=selectors.plans_current_approved())
    return _xlsx_response(data, f"plans-approved-{timezone.localdate():%Y-%m-%d}.xlsx")


@login_required
def plan_xlsx(request, pk: int):
    """One plan version as a workbook (its rows, the validation lists, the read-me)."""
    _region_scope(request.user)
    plan = get_object_or_404(Plan, pk=pk)
    return _xlsx_response(selectors.plan_workbook(plans=[plan]), f"plan-{plan.plan_measure_id}-v{plan.version}.xlsx")


@login_required
@require_POST
def plan_upload(request, pk: int):
    """Upload a plan workbook into this draft (an approved plan: into a new draft version of it)."""
    _region_scope(request.user)
    plan = get_object_or_404(Plan.objects.select_related("plan_measure"), pk=pk)
    may_plan = can(request.user, Action.PLAN, region_id=None)
    if not may_plan:
        raise PermissionDenied(_("only the ministry may edit consolidated plans"))
    upload_form = PlanUploadForm(request.POST, request.FILES)
    errors: list[str] = []
    if upload_form.is_valid():
        try:
            rows = workbook_read(upload_form.cleaned_data["file"].read())
            (result,) = services.plan_xlsx_import(
                rows=rows,
                plan=plan,
                remove_missing=upload_form.cleaned_data["remove_missing"],
                user=request.user,
            )
        except PlanFileError as exc:
            upload_form.add_error("file", str(exc))
        except services.PlanImportError as exc:
            errors = [str(e) for e in exc.errors]
        else:
            messages.success(request, _plan_import_summary(result))
            for warning in result.warnings:
                messages.warning(request, warning)
            return redirect("tracking:plan", pk=result.plan.pk)
    return plan_page_render(
        request,
        plan,
        form=PlanItemForm(),
        may_plan=may_plan,
        upload_form=upload_form,
        import_errors=errors,
        status=400,
    )


def _plan_import_summary(result) -> str:
    counts = ", ".join(
        [
            ngettext("%(n)s row added", "%(n)s rows added", result.added) % {"n": result.added},
            ngettext("%(n)s updated", "%(n)s updated", result.updated) % {"n": result.updated},
            ngettext("%(n)s removed", "%(n)s removed", result.removed) % {"n": result.removed},
            ngettext("%(n)s unchanged", "%(n)s unchanged", result.unchanged) % {"n": result.unchanged},
        ]
    )
    if result.created:
        return _("File loaded into a new draft, version %(v)s: %(counts)s.") % {
            "v": result.plan.version,
            "counts": counts,
        }
    return _("File loaded into this draft: %(counts)s.") % {"counts": counts}
