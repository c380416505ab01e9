"""Personal and occupational credit reports: assembly, signing, PDF, verification."""
