"""``demographics``: gender, age band, language, ... of unseen people from their released AUs."""
