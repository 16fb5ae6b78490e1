# Export the two R-packaged text sources used by prepare_text_data.py.
#
#   Rscript export_r_data.R OUTDIR
#
# Needs: apt-get install -y --no-install-recommends r-base-core r-cran-modeldata r-cran-janeaustenr
# (only base R is used: the data are read straight from the packages' lazy-load databases, so the
# packages' own R dependencies need not load).
#
# Writes, UTF-8, one record per line, fields separated by a TAB; inside a field backslash, TAB, CR
# and LF are escaped as \\ \t \r \n:
#   OUTDIR/food_train.tsv, OUTDIR/food_test.tsv   score<TAB>product<TAB>review   (modeldata training_data / testing_data)
#   OUTDIR/austen_<novel>.tsv                     line<TAB>text   (janeaustenr character vectors, every line incl. empty ones)
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript export_r_data.R OUTDIR")
out <- args[[1]]
dir.create(out, showWarnings = FALSE, recursive = TRUE)

esc <- function(x) {
  x <- enc2utf8(as.character(x))
  x <- gsub("\\", "\\\\", x, fixed = TRUE)
  x <- gsub("\t", "\\t", x, fixed = TRUE)
  x <- gsub("\r", "\\r", x, fixed = TRUE)
  gsub("\n", "\\n", x, fixed = TRUE)
}
put <- function(lines, file) {
  con <- file(file.path(out, file), open = "wb")
  writeLines(enc2utf8(lines), con, sep = "\n", useBytes = TRUE)
  close(con)
}
lib <- "/usr/lib/R/site-library"

md <- new.env()
lazyLoad(file.path(lib, "modeldata", "data", "Rdata"), envir = md)
for (split in c("train", "test")) {
  d <- get(if (split == "train") "training_data" else "testing_data", envir = md)
  put(paste(esc(d$score), esc(d$product), esc(d$review), sep = "\t"), paste0("food_", split, ".tsv"))
}

ja <- new.env()
lazyLoad(file.path(lib, "janeaustenr", "data", "Rdata"), envir = ja)
for (novel in c("sensesensibility", "prideprejudice", "mansfieldpark", "emma", "northangerabbey", "persuasion")) {
  x <- get(novel, envir = ja)
  put(paste(seq_along(x), esc(x), sep = "\t"), paste0("austen_", novel, ".tsv"))
}
