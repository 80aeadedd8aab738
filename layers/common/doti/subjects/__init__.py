"""Requests from the people filmed (issue 15 points 4 and 5, Art. 2-4 and the Act on the Protection of Personal
Information): made on a site's public notice page without an account, answered by the customer in the viewer."""
