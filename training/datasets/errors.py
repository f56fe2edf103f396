"""What can go wrong with a data file, as errors the API turns into 422s."""


class DataUnavailable(Exception):
    """Files a data set needs are not where the server looks for them."""


class FileProblem(ValueError):
    """A data file that cannot be read; the message names the line, column or array at fault."""
