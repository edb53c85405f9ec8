from django.urls import path

from . import views

app_name = "bookstore"

urlpatterns = [
    path("", views.book_list, name="books"),
    path("books/<int:pk>/", views.book_detail, name="book"),
    path("authors/<int:pk>/", views.author_detail, name="author"),
]
