print("sharecast")
