"""dualdb's read side: ``.mongo()`` querysets over the mirrored documents."""
