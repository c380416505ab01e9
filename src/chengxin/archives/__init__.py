"""Credit archives (信用档案): the person's file, yearly status, evidence."""
