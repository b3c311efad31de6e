"""The only code that talks to Xero: `XeroApi` (one linked organisation, every request paced), OAuth,
the plain values and the error tree."""
