LDLIBS_hdrtrace := -lssl -lcrypto
