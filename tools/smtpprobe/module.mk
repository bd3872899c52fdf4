LDLIBS_smtpprobe := -lreadline
