"""The portal's pure rules: labels in Chinese, form parsing and which field an error belongs to."""
