"""The mail-intake function: SES receipt rule events in, tickets out."""
