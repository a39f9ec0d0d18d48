//! Exchange formats: one client as JSON or vCard 4.0; clients in from vCard or CSV.
