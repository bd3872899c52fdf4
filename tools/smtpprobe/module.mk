LDLIBS_smtpprobe := -lreadline -lssl -lcrypto
