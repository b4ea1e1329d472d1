# Decision-log masking, OPA's convention: the text of a note is the user's,
# not the auditor's, so the decision log records that a note was written but
# not what it said.
package system.log

mask contains "/input/args/text"
