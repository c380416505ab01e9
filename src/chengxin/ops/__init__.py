"""Operations: backup and restore, field-key rotation, audit checkpoints and export."""
