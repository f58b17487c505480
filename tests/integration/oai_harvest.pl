#!/usr/bin/perl
# A small OAI-PMH harvester on Debian's HTTP::OAI, for tests/integration/
# oai.sh: harvest BASEURL completely with VERB (ListRecords or
# ListIdentifiers) in PREFIX, optionally one SET or FROM date, following
# resumption tokens page by page.  Prints one line a record:
#   identifier TAB datestamp TAB record|deleted TAB setSpecs TAB title
# (title for oai_dc ListRecords only), and "pages N" on stderr.
# Exits non-zero on any OAI-PMH or HTTP error but noRecordsMatch.
use strict;
use warnings;

use HTTP::OAI;
use HTTP::OAI::Metadata::OAI_DC;

my ($base, $verb, $prefix, $set, $from) = @ARGV;
die "usage: $0 BASEURL VERB PREFIX [SET|-] [FROM]\n" unless $prefix;

my $h = HTTP::OAI::Harvester->new(baseURL => $base, resume => 0);
my %args = (metadataPrefix => $prefix);
$args{set} = $set if defined $set && $set ne '-';
$args{from} = $from if defined $from;
if ($verb eq 'ListRecords' && $prefix eq 'oai_dc') {
    $args{handlers} = {metadata => 'HTTP::OAI::Metadata::OAI_DC'};
}

my $pages = 0;
my $r = $h->$verb(%args);
while (1) {
    die "harvest failed: ", $r->code, " ", $r->message, "\n"
        if $r->is_error;
    for my $e ($r->errors) {
        next if $e->code eq 'noRecordsMatch';
        die "OAI-PMH error: ", $e->code, ": ", $e->message, "\n";
    }
    $pages++;
    while (my $item = $r->next) {
        my $hd = $verb eq 'ListRecords' ? $item->header : $item;
        my $title = '';
        if ($verb eq 'ListRecords' && !$hd->is_deleted && $item->metadata
            && $prefix eq 'oai_dc') {
            $title = join('|', @{$item->metadata->dc->{title} || []});
        }
        print join("\t", $hd->identifier, $hd->datestamp,
                   $hd->is_deleted ? 'deleted' : 'record',
                   join(',', $hd->setSpec), $title), "\n";
    }
    my $token = $r->resumptionToken;
    last unless defined $token && $token->resumptionToken;
    my %next = (resumptionToken => $token->resumptionToken);
    $next{handlers} = $args{handlers} if $args{handlers};
    $r = $h->$verb(%next);
}
print STDERR "pages $pages\n";
