// Placeholder: the dashboard branch replaces this file.
