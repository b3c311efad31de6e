from django.urls import path

from . import views

app_name = "billing"

urlpatterns = [
    path("accounts/", views.BillingAccountListView.as_view(), name="account_list"),
    path("accounts/new/", views.BillingAccountCreateView.as_view(), name="account_create"),
    path("accounts/<int:pk>/", views.BillingAccountUpdateView.as_view(), name="account_edit"),
    path("rates/", views.RateListView.as_view(), name="rate_list"),
    path("rates/new/", views.RateCreateView.as_view(), name="rate_create"),
    path("rates/<int:pk>/", views.RateUpdateView.as_view(), name="rate_edit"),
    path("settings/tax/", views.TaxRateListView.as_view(), name="taxrate_list"),
    path("settings/tax/new/", views.TaxRateCreateView.as_view(), name="taxrate_create"),
    path("settings/tax/<int:pk>/", views.TaxRateUpdateView.as_view(), name="taxrate_edit"),
    path("invoices/", views.InvoiceListView.as_view(), name="invoice_list"),
    path("invoices/new/", views.InvoiceEditView.as_view(), name="invoice_create"),
    path("invoices/<int:pk>/", views.InvoiceDetailView.as_view(), name="invoice_detail"),
    path("invoices/<int:pk>/pdf/", views.InvoicePdfView.as_view(), name="invoice_pdf"),
    path("invoices/<int:pk>/edit/", views.InvoiceEditView.as_view(), name="invoice_edit"),
    path("invoices/<int:pk>/issue/", views.InvoiceIssueView.as_view(), name="invoice_issue"),
    path("invoices/<int:pk>/delete/", views.InvoiceDeleteView.as_view(), name="invoice_delete"),
]
