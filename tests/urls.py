"""URLs of the test project: only the admin, which the admin tests drive."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
