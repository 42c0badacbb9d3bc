"""Operations: one function per use case, each one unit of work."""
