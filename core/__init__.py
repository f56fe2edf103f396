"""State shared by the API and the workers: settings, database access, job and metric stores."""
