"""Understanding a finished or running study: pure functions of its trial records."""
