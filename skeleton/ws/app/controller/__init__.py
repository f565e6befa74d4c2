"""HTTP controllers: the chat page and the rooms API."""
