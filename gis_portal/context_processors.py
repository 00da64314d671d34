from django.conf import settings

from accounts.permissions import user_role


def portal(request):
    """Values every page needs: the user's role and the data attributions."""
    return {
        "user_role": user_role(getattr(request, "user", None)),
        "boundaries_attribution": settings.BOUNDARIES_ATTRIBUTION,
    }
