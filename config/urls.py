from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        # Swagger UI sets style attributes from its own script; this page alone allows
        # them (it shows no user data). Its scripts still come from files only.
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="api-docs",
    ),
    path("api/", include("payouts.api.urls")),
    path("api/", include("labeling.api.urls")),
    path("api/", include("marketplace.api.urls")),
    path("", include("labeling.urls")),
    path("", include("payouts.urls")),
    path("", include("marketplace.urls")),
]
