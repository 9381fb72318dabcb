import StyleFilter
print("stylefilter")
